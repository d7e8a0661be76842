// Taken from the organisation's own page. The testimonials are quoted word for word; the vision's
// one typo ("free form oppression") is corrected.
export const organisationPage = {
  "vision": "At CAGE (formerly CagePrisoners), our vision is to create a world free from oppression and injustice.",
  "mission": "Our mission is to highlight and campaign for those impacted by oppressive state policies arising from the War on Terror.",
  "focusAreas": [
    "Due process",
    "Fair and open trials",
    "Arbitrary detention",
    "Enforced disappearances",
    "Torture",
    "Extrajudicial killings",
    "Police which criminalise thoughts/beliefs/dissents"
  ],
  "testimonials": [
    {
      "quote": "It is far from easy to think of individuals in 2008 who would have the courage and commitment to make their focus of concern the circumstances of detained Muslims in Britain and beyond. The work done by the small collective that constitutes ‘Cageprisoners’ is quite remarkable; there is not an individual whose plight that escapes their notice;  where little is known, Cageprisoners conducts its own research, takes statements, conducts interviews, generates debate and consistently produces a flow of reliable information that is otherwise unobtainable. The world inhabited by prisoners is intended by their jailers to be secret and silent; Cageprisoners gives a voice to the voiceless, and refuses to allow those who are not detained, the complacency of ignorance.  Their work is achieved on a shoestring, and yet matches and surpasses that of many organisations by comparison massively resourced organisations which barely scratch the surface of the same area. The Cageprisoners website is or should be required reading for the public at large, writers, broadcasters, academics, lawyers and politicians and all who believe that it is their duty to be properly informed.",
      "author": "Gareth Peirce",
      "authorContext": "human rights lawyer"
    },
    {
      "quote": "I would like to express my deepest gratitude to Cageprisoners, its members and supporters. Your contributions will allow me to rehabilitate and to regain my mobility after the most painful chapter of my life. I am hopeful for the opportunity to walk independently again, to find gainful employment and to rebuild my life. Owing to your advocacy and generosity, my hopes can now be realized. Thank you.",
      "author": "Ahmad Abdulahad",
      "authorContext": "Uighur former Guantanamo prisoner, Palau"
    },
    {
      "quote": "I am sincerely grateful for your appeal to our captors. It's almost overwhelming not knowing how to reciprocate. Reading about the prisoners held at Guantanamo Bay and the horrifying revelations that came after your release were among the reasons why I decided to volunteer for CPT in Iraq.  It was disturbing to witness Tom and Norman being told to wear the suits, not knowing what would happen next. In those moments I remembered you and your fellow prisoners. Your work before -and after- your ordeal inspires me.",
      "author": "Harmeet Sooden",
      "authorContext": "former hostage held in Iraq, Christian Peacemaker Team (CPT)"
    },
    {
      "quote": "These last few days reading the testimonies of the former detainees on your page and thinking about what I learned in that camp... it’s been an unusual and bizarre process...I hope that in some way we can work together to bring a portion of humanity back to a period in our lives that was separated by metal and fear. I feel that there is probably a great deal of anger for you and the rest of the men whose lives were seized by men similar in many ways to myself... I respect immensely what you do, and I hope I can be of any help to you….I feel like this might be my greatest duty to the humanity that I love so much, by far exceeding the awful duty I served for a country which has done nothing but destroy and provoke hatred and despair in the rest of the world and inside of its own boundaries.",
      "author": "Christopher Arendt",
      "authorContext": "former US soldier stationed at Guantánamo Bay, Cuba"
    },
    {
      "quote": "I join my prayers to yours for the safekeeping and early release of those detainees in Guantanamo, and my unending support for the cause of Cageprisoners.",
      "author": "Joanna Lumley",
      "authorContext": "actress"
    },
    {
      "quote": "I'm an American and I love America, but there is so much people need to learn here...I'm glad, very glad I contacted this web site. I have wanted to for a few years now. That year had a very large impact on my life.",
      "author": "Rachel",
      "authorContext": "former US soldier stationed at Guantánamo Bay, Cuba"
    },
    {
      "quote": "I would like to thank Cageprisoners and your supporters for coming to the aid of a Muslim in times of need and hardship. May Allah accept it from you and grant you success in this world and the next.",
      "author": "Lahcen Ikassrien",
      "authorContext": "former Guantanamo prisoner, Spain"
    },
    {
      "quote": "May Allah reward you with the best for the work you have done and continue to do for the cause of the prisoners.",
      "author": "Adel al-Gazzar",
      "authorContext": "former Guantanamo prisoner, Slovakia"
    },
    {
      "quote": "Your assistance has helped me at a time of great personal difficulty. Your work is crucial in keeping the voices of the prisoners alive in the minds of those who have forgotten.",
      "author": "Farhad Mohammed",
      "authorContext": "former Guantanamo prisoner, Pakistan"
    }
  ]
} as const
